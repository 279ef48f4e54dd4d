/**
 * Which TCP/UDP sockets a process tree listens on, read from Linux's /proc (no `ss`, no root):
 *   - the tree: every process whose parent chain reaches the root pid (/proc/<pid>/stat, field 4);
 *   - its sockets: the `socket:[inode]` links in /proc/<pid>/fd;
 *   - their addresses: /proc/net/{tcp,tcp6,udp,udp6}, rows in state 0A (TCP LISTEN) or 07 (UDP, unconnected).
 * Addresses in /proc/net are hex in the kernel's byte order: each 32-bit word is little-endian on x86.
 */
import * as fs from 'node:fs';
import { endianness } from 'node:os';

export interface ListeningSocket {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  address: string;
  port: number;
  inode: string;
  pid?: number;
  command?: string;
}

/** One 32-bit word of /proc/net hex (kernel byte order) to its four bytes in network order. */
function wordBytes(hex8: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex8.slice(i, i + 2), 16));
  return endianness() === 'LE' ? bytes.reverse() : bytes;
}

/** `0100007F` -> `127.0.0.1`; 32 hex digits -> a full (uncompressed) IPv6 text, or `::ffff:a.b.c.d` when IPv4-mapped. */
export function decodeProcAddress(hex: string): string {
  if (hex.length === 8) return wordBytes(hex).join('.');
  if (hex.length !== 32) throw new Error(`not a /proc/net address: ${hex}`);
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

/** Loopback only: 127.0.0.0/8, ::1, and IPv4-mapped 127.x. Wildcards (0.0.0.0, ::) and every other address are not. */
export function isLoopback(address: string): boolean {
  if (/^127\.\d+\.\d+\.\d+$/.test(address)) return true;
  if (/^::ffff:127\.\d+\.\d+\.\d+$/i.test(address)) return true;
  return address === '0:0:0:0:0:0:0:1' || address === '::1';
}

/** Parses one /proc/net table; keeps listening rows (TCP state 0A, UDP state 07). */
export function parseProcNet(text: string, proto: ListeningSocket['proto']): ListeningSocket[] {
  const listening = proto.startsWith('tcp') ? '0A' : '07';
  const out: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== listening) continue;
    const [addrHex, portHex] = cols[1].split(':');
    out.push({ proto, address: decodeProcAddress(addrHex), port: parseInt(portHex, 16), inode: cols[9] });
  }
  return out;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The root pid and all its descendants alive now. */
export function processTree(root: number): number[] {
  const pids = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const parent = new Map(pids.map((p) => [p, parentOf(p)] as const));
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp] of parent)
      if (pp !== undefined && tree.has(pp) && !tree.has(p)) {
        tree.add(p);
        grew = true;
      }
  }
  return [...tree];
}

function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return fds.flatMap((fd) => {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      return m ? [m[1]] : [];
    } catch {
      return [];
    }
  });
}

/** Every listening TCP socket and bound UDP socket held by the process tree under `root`. */
export function listeningSocketsOf(root: number): ListeningSocket[] {
  const owner = new Map<string, number>();
  for (const pid of processTree(root)) for (const inode of socketInodes(pid)) owner.set(inode, pid);
  const all = (['tcp', 'tcp6', 'udp', 'udp6'] as const).flatMap((proto) => {
    try {
      return parseProcNet(fs.readFileSync(`/proc/net/${proto}`, 'utf8'), proto);
    } catch {
      return []; // e.g. no IPv6 in this kernel
    }
  });
  return all
    .filter((s) => owner.has(s.inode))
    .map((s) => {
      const pid = owner.get(s.inode)!;
      let command = '';
      try {
        command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ');
      } catch {
        /* gone */
      }
      return { ...s, pid, command };
    });
}
