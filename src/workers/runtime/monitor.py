"""stdchk job monitor: the dead man's switch of one job on a worker.

Usage: python3 monitor.py INSTANCE_DIR RUNC [POLL_SECONDS]

The worker agent starts one monitor per job, detached (its own session), so
it outlives the agent. The agent renews the job's lease by rewriting
INSTANCE_DIR/lease with a deadline in milliseconds on CLOCK_MONOTONIC (the
same clock in every process on the machine; a step of the wall clock does
not move it). The deadline is the agent's own lease: the scheduler vouched
for this job at this epoch until then, and it declares the worker lost (and
may start the job elsewhere) only later, after its heartbeat timeout.

Once the deadline has passed, whatever the agent is doing (gone after a
kill -9, hung, cut off from the scheduler), the monitor kills a checkpoint
in progress (`runc checkpoint`, `criu dump`: a dump would leave the job
running) and freezes the job: `runc pause` for a container, SIGSTOP to the
process group of a process job. When the deadline moves ahead again (the
agent, or an agent restarted on this machine, heard from the scheduler that
the job is still ours) it thaws the job. The agent kills jobs that moved.

What the job is comes from INSTANCE_DIR/instance.json, which the runtime
writes (kind, containerId, wrapperPid, jobPid, jobStartTime). The monitor
exits when the job has ended, when the folder is removed, or on SIGTERM.
Its log (one line per event) is INSTANCE_DIR/monitor.log; INSTANCE_DIR/state
says "frozen" or "running" (what it last did), for the agent to report.
"""

import json
import os
import signal
import subprocess
import sys
import time

STATE_RUNNING = "running"
STATE_FROZEN = "frozen"


def monotonic_ms():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) / 1e6


def log(msg):
    sys.stdout.write("%.3f %s\n" % (monotonic_ms(), msg))
    sys.stdout.flush()


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_record(instance_dir):
    text = read_text(os.path.join(instance_dir, "instance.json"))
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def write_state(instance_dir, state):
    tmp = os.path.join(instance_dir, "state.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(state + "\n")
        os.rename(tmp, os.path.join(instance_dir, "state"))
    except OSError:
        pass


def read_deadline(instance_dir):
    text = read_text(os.path.join(instance_dir, "lease"))
    try:
        return float(text.strip()) if text else 0.0
    except ValueError:
        return 0.0


def start_time(pid):
    text = read_text("/proc/%d/stat" % pid)
    if not text:
        return None
    fields = text[text.rfind(")") + 2:].split(" ")
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def job_alive(rec):
    pid = rec.get("jobPid")
    if not pid:
        return None
    st = start_time(pid)
    return st is not None and (rec.get("jobStartTime") is None or st == rec.get("jobStartTime"))


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except OSError:
        return False


def children(pid):
    text = read_text("/proc/%d/task/%d/children" % (pid, pid))
    return [int(x) for x in text.split()] if text else []


def checkpointers(rec):
    """Processes dumping this job: runc checkpoint ID (and its criu), criu dump -t/--tree PID."""
    found = []
    cid = rec.get("containerId")
    pid = str(rec.get("jobPid") or "")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        comm = read_text("/proc/%s/comm" % entry)
        cmdline = read_text("/proc/%s/cmdline" % entry)
        if comm is None or cmdline is None:
            continue
        comm = comm.strip()
        # criu renames itself ("criu: dump --rpc -t PID ..."): split on spaces too.
        argv = cmdline.replace("\0", " ").split()
        if comm == "runc" and "checkpoint" in argv and cid and cid in argv:
            found.append(int(entry))
        elif comm == "criu" and pid and "dump" in " ".join(argv):
            for flag in ("-t", "--tree"):
                if flag in argv and argv.index(flag) + 1 < len(argv) and argv[argv.index(flag) + 1] == pid:
                    found.append(int(entry))
                    break
    # Their children too (runc's criu swrk).
    todo = list(found)
    while todo:
        for c in children(todo.pop()):
            if c not in found:
                found.append(c)
                todo.append(c)
    return found


def kill_checkpointers(rec):
    pids = checkpointers(rec)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    deadline = monotonic_ms() + 5000
    while any(start_time(p) for p in pids) and monotonic_ms() < deadline:
        time.sleep(0.01)
    if pids:
        log("killed the checkpoint in progress (pids %s)" % " ".join(str(p) for p in pids))


def runc(runc_path, *args):
    try:
        r = subprocess.run([runc_path] + list(args), capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        return 255, str(e)


def container_status(runc_path, cid):
    code, out = runc(runc_path, "state", cid)
    if code != 0:
        return None
    try:
        return json.loads(out).get("status")
    except ValueError:
        return None


def freeze(rec, runc_path):
    if rec.get("kind") == "container":
        cid = rec["containerId"]
        code, out = runc(runc_path, "pause", cid)
        # A dump killed midway may have left the cgroup frozen already.
        if code != 0 and container_status(runc_path, cid) != "paused":
            log("could not pause %s: %s" % (cid, out.strip()))
            return False
        return True
    try:
        os.killpg(rec["jobPid"], signal.SIGSTOP)
    except OSError:
        pass
    return True


def thaw(rec, runc_path):
    if rec.get("kind") == "container":
        cid = rec["containerId"]
        if container_status(runc_path, cid) == "paused":
            code, out = runc(runc_path, "resume", cid)
            if code != 0:
                log("could not resume %s: %s" % (cid, out.strip()))
                return False
        return True
    try:
        os.killpg(rec["jobPid"], signal.SIGCONT)
    except OSError:
        pass
    return True


def main():
    instance_dir = sys.argv[1]
    runc_path = sys.argv[2]
    poll = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Unknown at start: a monitor of an earlier agent may have frozen the job.
    state = None
    enforced = 0.0
    log("monitoring %s" % instance_dir)
    while True:
        if not os.path.isdir(instance_dir):
            return
        rec = read_record(instance_dir)
        alive = job_alive(rec) if rec else None
        if alive is False:
            log("the job ended")
            return
        if rec and alive is None and rec.get("wrapperPid") and not group_alive(rec["wrapperPid"]):
            log("the job never ran")
            return
        if alive:
            now = monotonic_ms()
            deadline = read_deadline(instance_dir)
            if now >= deadline:
                # Again every second while expired: a dump started late, a process forked late.
                if state != STATE_FROZEN or now - enforced > 1000:
                    kill_checkpointers(rec)
                    if freeze(rec, runc_path):
                        if state != STATE_FROZEN:
                            log("lease ran out %.0f ms ago: job frozen" % (now - deadline))
                            write_state(instance_dir, STATE_FROZEN)
                        state = STATE_FROZEN
                    enforced = now
            elif state != STATE_RUNNING:
                if thaw(rec, runc_path):
                    if state == STATE_FROZEN:
                        log("lease renewed: job thawed")
                    write_state(instance_dir, STATE_RUNNING)
                    state = STATE_RUNNING
        time.sleep(poll)


if __name__ == "__main__":
    main()
