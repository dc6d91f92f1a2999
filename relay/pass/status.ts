/** Upstream task statuses -> the relay's: the configured map first, then protocols/custom-pass's aliases. */
import { normalizeTaskStatus, type TaskStatus } from '../../protocols/custom-pass.js';

export function mapTaskStatus(upstream: unknown, configured: Record<string, TaskStatus>): TaskStatus | undefined {
  if (typeof upstream !== 'string') return undefined;
  return configured[upstream.toLowerCase()] ?? normalizeTaskStatus(upstream);
}
