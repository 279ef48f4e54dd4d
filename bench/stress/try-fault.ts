import { faultRun } from './fault';
import { captureLogs } from './log-capture';
const cap = captureLogs({ apiKey: 'stress-api-key-3f9a1c7e5b2d' });
faultRun({ events: Number(process.argv[2] ?? 1000), progress: (l) => cap.passthrough(`[fault] ${l}`) })
  .then((r) => { const s = cap.stop(); console.log(JSON.stringify(r, null, 1)); console.log(JSON.stringify(s, null, 1)); process.exit(0); })
  .catch((e) => { cap.stop(); console.error(e); process.exit(1); });
