#!/usr/bin/env python3
"""Where a proxied request's time goes, seen from the kernel: reads `tcpdump -tt -n -A` text of loopback traffic
(client <-> gateway port, gateway <-> upstream port) and follows each request by its id (the gateway sends it to
the upstream as X-Request-Id and answers the client with x-request-id). Per request:
  t0  the client's request reaches the gateway's port      t1  the gateway's request leaves for the upstream
  t2  the upstream's last answer packet                     t3  the gateway's last answer packet to the client
and prints percentiles of: in the gateway before the upstream call (t1 - t0), the upstream (t2 - t1), in the
gateway after the upstream's answer (t3 - t2), and the whole (t3 - t0), plus what the slowest 1 % spent where.
Timestamps are the kernel's, so the client's own scheduling (wrk's) is left out.
Usage: legs.py DUMP.txt GATEWAY_PORT UPSTREAM_PORT"""
import collections
import re
import sys

HEADER = re.compile(r'^(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): .*length (\d+)')
REQUEST_ID = re.compile(r'x-request-id: (req_[0-9a-f]{24})', re.I)


def packets(path):
    """(time, source port, destination port, request id or None) of every packet that carries data."""
    current = None
    for line in open(path, errors='replace'):
        m = HEADER.match(line)
        if m:
            if current and current[3] > 0:
                yield current[0], current[1], current[2], current[4]
            current = [float(m.group(1)), m.group(2), m.group(3), int(m.group(4)), None]
        elif current and current[4] is None and (r := REQUEST_ID.search(line)):
            current[4] = r.group(1)
    if current and current[3] > 0:
        yield current[0], current[1], current[2], current[4]


def main(path, gw, up):
    times = collections.defaultdict(dict)
    client_request_at = {}   # client's port -> arrival of its latest request
    upstream_request = {}    # gateway's port towards the upstream -> request id on that connection now
    answering = {}           # client's port -> request id being answered
    for ts, src, dst, rid in packets(path):
        if dst == gw:
            client_request_at[src] = ts
            answering.pop(src, None)
        elif dst == up and rid:
            upstream_request[src] = rid
            times[rid]['t1'] = ts
        elif src == up and (rid2 := upstream_request.get(dst)):
            times[rid2]['t2'] = ts
        elif src == gw:
            if rid:
                answering[dst] = rid
                times[rid]['t0'] = client_request_at.get(dst)
            if (rid2 := answering.get(dst)):
                times[rid2]['t3'] = ts
    done = [t for t in times.values() if all(t.get(k) is not None for k in ('t0', 't1', 't2', 't3'))]
    if not done:
        print('legs: no request could be followed in the capture')
        return
    legs = {
        'gateway, before the upstream call': lambda t: t['t1'] - t['t0'],
        'upstream': lambda t: t['t2'] - t['t1'],
        'gateway, after the upstream answer': lambda t: t['t3'] - t['t2'],
        'whole request (kernel view)': lambda t: t['t3'] - t['t0'],
    }
    for name, f in legs.items():
        v = sorted(f(t) for t in done)
        q = lambda p: v[min(len(v) - 1, int(p * len(v)))] * 1e6
        print(f'legs: {name:36s} p50 {q(.5):5.0f}  p90 {q(.9):5.0f}  p99 {q(.99):5.0f}  p99.9 {q(.999):5.0f} us  (n={len(v)})')
    slow = sorted(done, key=legs['whole request (kernel view)'])[int(len(done) * .99):]
    mean = lambda f: sum(f(t) for t in slow) / len(slow) * 1e6
    print(f'legs: the slowest 1 % ({len(slow)}): {mean(legs["whole request (kernel view)"]):.0f} us on average, of which '
          f'{mean(legs["gateway, before the upstream call"]):.0f} before the upstream call, {mean(legs["upstream"]):.0f} upstream, '
          f'{mean(legs["gateway, after the upstream answer"]):.0f} after its answer')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3])
