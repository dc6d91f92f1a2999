/**
 * A scenario process in miniature for manual.test.ts: the manual adapter configures once and
 * applies two changes, each time writing the layout file and waiting; the test signals it the
 * moment each prompt appears. Prints `done <seq>` and exits 0 when every wait ended on its signal.
 */
import { portableChange, portableLayout } from '../engine/portable-layout.js';
import { manualAdapter } from './manual.js';

const [layoutOut] = process.argv.slice(2);
const adapter = manualAdapter({ target: 'http://127.0.0.1:9', layoutOut });
const layout = portableLayout('manual-child', { channels: [{ name: 'main', endpoints: [{ name: 'A', type: 'claude', base_url: 'http://127.0.0.1:9', token: 'sk-ant-child' }] }] }, []);
const ctx = { scenario: 'manual-child', log: (line: string) => console.log(line) };
await adapter.configure(layout, ctx);
await adapter.apply(portableChange({ kind: 'pause', channel: 'main' }, layout, layout), ctx);
await adapter.apply(portableChange({ kind: 'resume', channel: 'main' }, layout, layout), ctx);
await adapter.close?.();
console.log('done 3');
