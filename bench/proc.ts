import { readFileSync } from "node:fs";

// Linux reports CPU times in clock ticks; USER_HZ is 100 on every mainstream kernel build.
const TICKS_PER_SECOND = 100;

/** CPU time (user + system, ms) the process has used so far, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may itself contain spaces, hence the split at the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory of the process in MiB, from /proc/<pid>/status. */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

// TCP states, as /proc/net/tcp writes them: the server's end of a connection it has not closed yet.
const ESTABLISHED = "01";
const CLOSE_WAIT = "08";

const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");

/**
 * Connections accepted on `port` (IPv4) that the server still holds open, from /proc/net/tcp; only those from
 * `clientPorts` when given.
 */
export function openConnections(port: number, clientPorts?: readonly number[]): number {
  const local = `:${hexPort(port)}`;
  const remotes = clientPorts && new Set(clientPorts.map((client) => `:${hexPort(client)}`));
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter(
      ([, address, remote, state]) =>
        address?.endsWith(local) &&
        (state === ESTABLISHED || state === CLOSE_WAIT) &&
        (!remotes || remotes.has(remote?.slice(-5) ?? "")),
    ).length;
}
