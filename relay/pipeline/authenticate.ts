/**
 * Stage 1, authenticate: the client's credential (Bearer or x-api-key) → the relay key it names.
 * Pure: the key table is part of the configuration.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { readClientCredential } from '../../protocols/auth.js';
import type { KeyModel, RelayModel } from '../config/model.js';
import { HttpError } from '../http/reply.js';

export function authenticate(config: RelayModel, headers: IncomingHttpHeaders): KeyModel {
  const credential = readClientCredential(headers);
  if (!credential) throw new HttpError(401, 'missing API key: send Authorization: Bearer <key> or x-api-key', { code: 'missing_api_key' });
  const key = config.keysByKey.get(credential);
  if (!key) throw new HttpError(401, 'invalid API key', { code: 'invalid_api_key' });
  return key;
}
