import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/**
 * systemd's readiness protocol (Type=notify, sd_notify(3)): `READY=1` once a
 * daemon serves, `STOPPING=1` when it begins to stop, as datagrams on the unix
 * socket named by $NOTIFY_SOCKET. Node has no unix datagram sockets, so a small
 * helper sends them: a python3 process started at the first message, alive as
 * long as the daemon (systemd must find the sender in the unit's cgroup, hence
 * `NotifyAccess=all` in contrib/systemd), else `systemd-notify` per message.
 * Without $NOTIFY_SOCKET (not under systemd) nothing happens.
 */

const HELPER = `
import json, os, socket, sys
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for line in sys.stdin:
    try:
        s.sendto(json.loads(line).encode(), addr)
    except Exception as e:
        print("stdchk sd-notify: %s" % e, file=sys.stderr)
`;

let helper: ChildProcess | undefined;
let helperFailed = false;

export function sdNotify(state: string): void {
  if (!process.env.NOTIFY_SOCKET) return;
  if (!helper && !helperFailed) {
    helper = spawn('python3', ['-u', '-c', HELPER], { stdio: ['pipe', 'ignore', 'inherit'] });
    helper.on('error', () => {
      helperFailed = true;
      helper = undefined;
      execFile('systemd-notify', state.split('\n'), () => undefined);
    });
    helper.stdin?.on('error', () => undefined);
    helper.unref();
    (helper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  if (helper?.stdin?.writable) helper.stdin.write(JSON.stringify(state) + '\n');
  else if (helperFailed) execFile('systemd-notify', state.split('\n'), () => undefined);
}
