/**
 * Where a benchmark ran: results without the machine, the Node version and the commit cannot
 * be compared honestly, so every JSON result carries this.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { calibrate, type MachineCalibration } from './calibration.js';
import { ROOT } from './processes.js';

export interface BenchEnvironment {
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cores: number;
  totalMemoryMb: number;
  /** 1-minute load average at the start and at the end: a busy machine shows here. */
  loadAverage: { start: number; end?: number };
  git: { commit: string; dirty: boolean };
  /** What a system call and a bit of JavaScript cost here at the start (older results: absent). */
  calibration?: MachineCalibration;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '';
  }
}

export function captureEnvironment(): BenchEnvironment {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryMb: Math.round(os.totalmem() / 1048576),
    loadAverage: { start: os.loadavg()[0] },
    git: { commit: git(['rev-parse', 'HEAD']) || 'unknown', dirty: git(['status', '--porcelain', '--', 'relay', 'bench', 'mocks', 'protocols', 'lib']) !== '' },
    calibration: calibrate(),
  };
}

export function finishEnvironment(env: BenchEnvironment): BenchEnvironment {
  return { ...env, loadAverage: { ...env.loadAverage, end: os.loadavg()[0] } };
}
