/**
 * What every wire protocol IS, as one interface. The mocks build their answers with it, the
 * relay reads usage / terminal events / session keys with it and answers errors in its shape,
 * and the scenario engine checks client results with it. Protocol knowledge lives only here.
 */

/** Wire protocols (not endpoint types: chatgpt-oauth speaks openai-responses on another path). */
export type ProtocolId = 'anthropic' | 'openai-chat' | 'openai-responses' | 'custom-pass';

/** Endpoint / upstream kinds, as configured in mocks and relay. */
export type UpstreamKind = 'claude' | 'openai' | 'openai-responses' | 'chatgpt-oauth' | 'custom-pass';

/**
 * Normalised usage. `inputTokens` is the NON-cached input (Anthropic input_tokens; OpenAI
 * prompt_tokens minus cached_tokens), so cost = in*pIn + out*pOut + cacheWrite*pCw + cacheRead*pCr.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  /** true when the upstream reported none and the number is the relay's own estimate. */
  estimated?: boolean;
  /**
   * Of `outputTokens`, those the model spent reasoning (thinking, reasoning items): already in
   * `outputTokens`, which is what is charged. The mocks set it on a complete answer (the journal
   * shows the split, the builders report it in the protocol's usage details); relays never need it.
   */
  reasoningTokens?: number;
}

export const ZERO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, cacheWriteTokens: 0, cacheReadTokens: 0 });

/** One server-sent event as on the wire (`event:` line optional; `data:` joined by \n). */
export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
}

/**
 * Where an event sits in a protocol's stream. Fault rules target phases generically
 * ("cut after the first content event", "after usage but before terminal") for every protocol.
 *   start    - message_start / role chunk / response.created, in_progress, output_item.added ...
 *   ping     - keep-alives (Anthropic ping)
 *   content  - text or tool-argument deltas (each labelled with the `chars` of output it carries)
 *   content_end - content_block_stop / finish_reason chunk / output_text.done, output_item.done
 *   usage    - the event that carries final usage when it is not the terminal one
 *              (Anthropic message_delta, OpenAI's usage chunk)
 *   terminal - message_stop / [DONE] / response.completed (which also carries usage)
 *   error    - an in-stream error event (Anthropic error, response.failed, response.incomplete;
 *              a Responses stream that hit max_output_tokens ends with response.incomplete)
 */
export type StreamPhase = 'start' | 'ping' | 'content' | 'content_end' | 'usage' | 'terminal' | 'error';

export interface LabeledEvent extends SseEvent {
  phase: StreamPhase;
  /**
   * Characters of output (text, refusal, thinking, tool arguments) this event delivers (content
   * events): a cut stream is billed tokensForChars of those sent (protocols/tokens.ts).
   */
  chars?: number;
  /** An event of the reasoning (thinking block, reasoning item): where `mid_reasoning` cuts; none of the answer's text. */
  reasoning?: true;
}

/** What the mock decided to answer, before faults and pacing are applied. */
export interface GeneratedContent {
  /** Output split into tokens; joined they equal the text. output_tokens === tokens.length. */
  tokens: string[];
  /** When the request had tools: one tool call whose JSON input is streamed in pieces. */
  toolCall?: { id: string; name: string; input: Record<string, unknown>; argumentChunks: string[] };
  /**
   * When the request asked for reasoning (protocols/reasoning.ts): its tokens, one word each
   * (billed as output tokens whether shown or not), and whether the words are sent (thinking
   * text, a Responses summary) or only counted (thinking omitted, no summary, Chat).
   */
  reasoning?: { tokens: string[]; shown: boolean; encrypted: boolean };
  stopReason: 'end_turn' | 'max_tokens' | 'tool_use';
}

/** A parsed client request, as much as routing, billing and mocks need to know. */
export interface RequestInfo {
  model: string | undefined;
  stream: boolean;
  /** max_tokens / max_output_tokens / max_completion_tokens when present. */
  maxOutputTokens: number | undefined;
  /** Estimated input tokens by the documented rule (see protocols/tokens.ts). */
  estimatedInputTokens: number;
  /**
   * Whether a stream will carry usage: OpenAI chat follows stream_options.include_usage; the
   * other protocols always report it (true).
   */
  includeUsage: boolean;
  hasTools: boolean;
}

/** A sticky-session key and where it came from (for the attempt log: "sticky via instructions"). */
export interface SessionKey {
  source: string;
  value: string;
  /**
   * true when the key was derived from the content (a hash of the first message, the
   * instructions) rather than sent by the client as a session identifier: a relay may decline
   * those, since unrelated requests that share a prompt would share it.
   */
  derived?: boolean;
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface UpstreamError {
  type: string;
  code?: string | null;
  message: string;
}

export interface ErrorOptions {
  /** Anthropic error.type / OpenAI error.type override. */
  type?: string;
  /** OpenAI error.code (e.g. 'context_length_exceeded', 'invalid_api_key'). */
  code?: string | null;
  param?: string | null;
  /** Seconds, for 429 / 529 retry-after. */
  retryAfterSeconds?: number;
  requestId?: string;
}

/** Reads a stream as it passes through: usage, terminal, in-stream errors. Pure state machine. */
export interface StreamObserver {
  /** Feed one event; returns its phase as classified by the protocol. */
  push(event: SseEvent): StreamPhase;
  /** Usage reported so far by the stream (merged from start + final events); undefined if none. */
  readonly usage: Usage | undefined;
  /** Output text seen so far (text deltas joined); '' when created with `{ text: false }`. */
  readonly text: string;
  /**
   * true once the protocol ended the stream by its own rules: message_stop, [DONE],
   * response.completed, or response.incomplete (which also sets `error.incomplete`: the stream
   * is over and its usage is final, but the answer was cut short upstream).
   */
  readonly complete: boolean;
  /**
   * true once the model finished its answer, whether or not the protocol's sentinel followed:
   * Anthropic's message_delta with a stop_reason, a chat chunk with a finish_reason (every
   * choice's), Responses' response.completed / response.incomplete. A stream that ends finished
   * but without its sentinel lost nothing but the sentinel (`Protocol.terminalEvents`).
   */
  readonly finished: boolean;
  /**
   * Why the model stopped, in the protocol's own words (Anthropic's stop_reason, Chat's
   * finish_reason of the first choice), once the stream said; protocols without one leave it out.
   */
  readonly stopReason?: string;
  /** Set when an in-stream error / response.failed / response.incomplete was seen. */
  readonly error: { type: string; message: string; incomplete?: boolean } | undefined;
  /** Number of content events seen (0 = nothing delivered yet). */
  readonly contentEvents: number;
  /**
   * Output tokens delivered by content events, estimated from the characters of text, refusal
   * and tool arguments they carried (tokensForChars): what a cut stream is billed.
   */
  readonly contentTokens: number;
  /** Events whose data was not valid JSON for the protocol (classified as 'content', not thrown). */
  readonly malformed: number;
  /**
   * What an error event spliced after the events seen so far needs to fit in (Responses: the next
   * sequence_number, the response id and model; empty for the other protocols). A relay ending a
   * broken stream passes it on: `protocol.streamErrorEvents(msg, undefined, observer.splice)`.
   */
  readonly splice: StreamErrorOptions;
}

/** Where a relay or mock splices error events into a stream that already carried events. */
export interface StreamErrorOptions {
  /** Responses: sequence_number for the first spliced event (default 0). */
  sequenceNumber?: number;
  /** Responses: response id / model echoed in response.failed / response.incomplete. */
  responseId?: string;
  model?: string;
  /** OpenAI error.code / Responses error.code. */
  code?: string | null;
}

export interface Protocol {
  id: ProtocolId;
  /** Parse a client request body (already JSON-parsed). Never throws on unknown fields. */
  requestInfo(body: unknown): RequestInfo;
  /** Validate a request the way the real upstream does; returns an error reply or undefined. */
  validate(body: unknown): ErrorReply | undefined;
  /** The protocol's own error response for an HTTP status (body shape, type by status, headers). */
  errorReply(status: number, message: string, opts?: ErrorOptions): ErrorReply;
  /** The event(s) a relay sends to end a stream that broke after the commit point. */
  streamErrorEvents(message: string, type?: string, opts?: StreamErrorOptions): SseEvent[];
  /**
   * The sentinel that follows the model's finish (Anthropic message_stop, chat `[DONE]`), which a
   * relay appends when an upstream closed a finished stream without it; empty where the finish is
   * itself the last event (Responses' response.completed, custom-pass's envelope).
   */
  terminalEvents(): SseEvent[];
  /**
   * The error an upstream answered, read from its error body (any status) in this protocol's
   * shape; undefined when the body is not an error. `type`: Anthropic error.type, OpenAI
   * error.type, custom-pass envelope code; `code`: OpenAI error.code (insufficient_quota ...).
   */
  errorFromBody(body: unknown): UpstreamError | undefined;
  /** Usage from a non-stream JSON response body; undefined if the body has none. */
  usageFromBody(body: unknown): Usage | undefined;
  /** Output text from a non-stream JSON response body. */
  textFromBody(body: unknown): string;
  /** Why the model stopped, from a non-stream JSON body, in the protocol's own words (Anthropic, Chat). */
  stopReasonFromBody?(body: unknown): string | undefined;
  /**
   * A stream's observer. `{ text: false }`: `text` stays empty, everything else is observed; for a
   * consumer that counts what was delivered (`contentTokens`) and never reads it back, such as the
   * relay, whose 1,000 concurrent streams otherwise each held their whole answer through every
   * young collection.
   */
  createObserver(options?: { text?: boolean }): StreamObserver;
  /** Sticky-session key from headers and body, by the protocol's precedence; undefined if none. */
  sessionKey(headers: Record<string, string | string[] | undefined>, body: unknown): SessionKey | undefined;
  /** Returns a copy of the body with `model` replaced (model mapping); other fields untouched. */
  withModel(body: unknown, model: string): unknown;
  /**
   * Assistant prefill, where the protocol has it (Anthropic, chat): how a request carries the
   * start of the assistant's answer for the model to continue, and how a broken stream is
   * continued on another upstream (relay/proxy/continuation.ts). Undefined: no continuation.
   */
  continuation?: ContinuationCodec;

  // --- mock side: building faithful answers ---
  /** Non-stream JSON response for a request and generated content. */
  buildResponse(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): unknown;
  /** The complete, labeled event sequence of a stream (faults are applied to it afterwards). */
  buildStream(req: RequestInfo, body: unknown, content: GeneratedContent, usage: Usage, ids: ResponseIds): LabeledEvent[];
  /** In-stream error event(s) in the protocol's form; `usage` for Responses response.incomplete. */
  buildStreamError(
    kind: 'overloaded' | 'failed' | 'incomplete',
    usageSoFar: Usage,
    ids: ResponseIds,
    opts?: StreamErrorOptions,
  ): LabeledEvent[];
}

/** Deterministic identifiers and timestamp for one generated response. */
export interface ResponseIds {
  id: string;
  created: number;
}

/**
 * Continuing an answer that broke mid-stream: the partial assistant text goes to another upstream
 * as a prefill, and that upstream's stream is spliced into the client's as the same message.
 */
export interface ContinuationCodec {
  /** The assistant prefill a request ends with (its text), or undefined when it has none. */
  prefillOf(body: unknown): string | undefined;
  /**
   * The request with `text` appended to the assistant's answer as its prefill (a trailing assistant
   * message, or the client's own trailing prefill extended). Nothing else changes: no prompt text.
   */
  withPrefill(body: unknown, text: string): unknown;
  /** A tracker of the client's stream, fed every event the client receives. */
  track(): ContinuationTrack;
}

/** What the client's stream holds so far, as far as continuing it goes. */
export interface ContinuationTrack {
  push(event: SseEvent): void;
  /**
   * Why the answer cannot go on as text, or undefined when it can: a tool call or a thinking block
   * is never continued as prose, and neither is an answer with several choices or no text yet.
   */
  readonly blocked: string | undefined;
  /** The assistant text the client received (what the prefill carries). */
  readonly text: string;
  /**
   * Maps the events of a continuation's stream onto the client's: the same message (id), the open
   * text block goes on (no second start for it), later blocks numbered after the client's, the
   * final usage the sum of `before` (what the earlier upstream billed) and the continuation's.
   * Returns the events to write for one upstream event (none for those the client already had).
   */
  splicer(before: Usage): (event: SseEvent) => SseEvent[];
}
