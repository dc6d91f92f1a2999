import { describe, expect, it } from 'vitest';
import { ownerIsGone, type InstanceRecord, type Self } from './instance-lease.js';

const NOW = 1_000_000;
const self: Self = { instanceId: 'me', pidSpace: 'host-a/pid:[1]', pid: 100 };
const other = (o: Partial<InstanceRecord>): InstanceRecord => ({ instanceId: 'other', pidSpace: 'host-b/pid:[9]', pid: 200, leaseUntil: NOW + 5_000, ...o });
const running = (pids: number[]) => (pid: number) => pids.includes(pid);
const none = new Set<string>();

describe('whether the relay process that owns a reservation is gone', () => {
  it('an unregistered instance is gone (it shut down)', () => {
    expect(ownerIsGone(undefined, self, NOW, none, running([]))).toBe(true);
  });

  it('this instance, and other live stores of this process, are not', () => {
    expect(ownerIsGone(other({ instanceId: 'me', leaseUntil: 0 }), self, NOW, none, running([]))).toBe(false);
    expect(ownerIsGone(other({ instanceId: 'twin', pidSpace: self.pidSpace, pid: self.pid }), self, NOW, new Set(['twin']), running([]))).toBe(false);
  });

  it('another host is alive while its lease runs and gone once it ran out', () => {
    expect(ownerIsGone(other({}), self, NOW, none, running([]))).toBe(false);
    expect(ownerIsGone(other({ leaseUntil: NOW }), self, NOW, none, running([]))).toBe(true);
  });

  it('on this host, a dead pid is gone at once, whatever its lease', () => {
    const mine = { pidSpace: self.pidSpace, pid: 4242 };
    expect(ownerIsGone(other(mine), self, NOW, none, running([4242]))).toBe(false);
    expect(ownerIsGone(other(mine), self, NOW, none, running([]))).toBe(true);
  });

  it('this pid under another id, not a store of this process, is an earlier run (a restarted container)', () => {
    expect(ownerIsGone(other({ pidSpace: self.pidSpace, pid: self.pid }), self, NOW, none, running([self.pid]))).toBe(true);
  });
});
