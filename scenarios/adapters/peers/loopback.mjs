/**
 * Preloaded into a third-party relay (node --import, or NODE_OPTIONS so that processes it
 * respawns inherit it): every TCP server that would listen on all interfaces listens on
 * 127.0.0.1 instead. Portkey's gateway calls serve({ port }) without a host and
 * claude-code-router listens on 0.0.0.0 when its config has no providers; neither checks a
 * client key by default, so neither may be reachable from outside this machine.
 * RELAYLAB_LISTEN_HOST picks another loopback address.
 */
import net from 'node:net';

const HOST = process.env.RELAYLAB_LISTEN_HOST ?? '127.0.0.1';
const WILDCARD = new Set([undefined, null, '', '0.0.0.0', '::', '::0', '[::]']);
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, callback])
    if (typeof args[1] === 'string' || args[1] === undefined || args[1] === null) {
      if (WILDCARD.has(args[1])) args[1] = HOST;
    } else args.splice(1, 0, HOST);
  } else if (first && typeof first === 'object' && !('path' in first && first.path) && !('fd' in first) && !('_handle' in first)) {
    // listen(options[, callback])
    if (WILDCARD.has(first.host)) args[0] = { ...first, host: HOST };
  } else if (first === undefined || typeof first === 'function') {
    // listen([callback]): a random port on all interfaces
    args.unshift(0, HOST);
  }
  return listen.apply(this, args);
};
