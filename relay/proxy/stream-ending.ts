/**
 * How an upstream stream ended, by meaning rather than by its last bytes: the model finished its
 * answer (Anthropic's stop_reason in message_delta, a chat finish_reason, Responses'
 * response.completed), or it did not. A finished stream whose sentinel (message_stop, `[DONE]`)
 * never came lost nothing the client needs: the relay completes it (`repair`), it is a success
 * and the endpoint is not held responsible. A stream that stopped before the model finished is
 * cut, whatever the transport said.
 */
import type { StreamObserver } from '../../protocols/types.js';

/**
 * complete  the protocol ended the stream by its rules (response.incomplete included: over, usage final);
 * failed    the upstream's own error event ended it (it already went to the client);
 * repair    the model finished but the sentinel is missing: append the protocol's terminalEvents;
 * cut       it stopped before the model finished.
 */
export type StreamEnding = 'complete' | 'failed' | 'repair' | 'cut';

export function streamEnding(observer: Pick<StreamObserver, 'complete' | 'finished' | 'error'>): StreamEnding {
  const error = observer.error;
  if (observer.complete) return error && !error.incomplete ? 'failed' : 'complete';
  if (error) return 'failed';
  return observer.finished ? 'repair' : 'cut';
}
