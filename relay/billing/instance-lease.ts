/**
 * Which relay process owns a reservation, and whether that process is gone. On a shared MySQL
 * ledger every relay process registers an instance (a random id) with a lease it renews every
 * few seconds; each reservation records the instance that made it. A reservation belongs to a
 * dead process, and is recovered at once, when its instance:
 *   - is no longer registered (it shut down and unregistered), or
 *   - let its lease run out (killed, frozen, cut off from the database), or
 *   - ran in this process's pid namespace on this host and its pid is no longer running, or has
 *     this process's pid without being one of this process's stores (a restarted container
 *     whose relay is pid 1 again): a restart on the same machine recovers its predecessor's
 *     reservations without waiting for the lease.
 * Leases run on the system clock: they are about real processes, whatever clock requests use.
 */
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** The lease outlives its last renewal by this much (renewed four times per lease). */
export const DEFAULT_INSTANCE_LEASE_MS = 10_000;

export interface InstanceRecord {
  instanceId: string;
  /** Host name and pid namespace: two processes with the same value can see each other's pids. */
  pidSpace: string;
  pid: number;
  leaseUntil: number;
}

export interface Self {
  instanceId: string;
  pidSpace: string;
  pid: number;
}

/** Instances opened by this process and not yet shut down (tests run several relays in one process). */
export const instancesHere = new Set<string>();

/** This process's pid space: its host and, on Linux, its pid namespace (containers share host names). */
export function currentPidSpace(): string {
  let ns = '';
  try {
    ns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // No procfs: pid checks still run, within the host name.
  }
  return `${hostname()}/${ns}`;
}

export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the instance that owns a reservation is gone (undefined: not registered any more). */
export function ownerIsGone(
  owner: InstanceRecord | undefined,
  self: Self,
  now: number,
  here: ReadonlySet<string> = instancesHere,
  running: (pid: number) => boolean = processRunning,
): boolean {
  if (!owner) return true;
  if (owner.instanceId === self.instanceId || here.has(owner.instanceId)) return false;
  if (owner.leaseUntil <= now) return true;
  if (owner.pidSpace === self.pidSpace) return owner.pid === self.pid || !running(owner.pid);
  return false;
}
