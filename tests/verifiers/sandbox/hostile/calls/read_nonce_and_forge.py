# problem: mbpp/1
# expect: runtime_error wrong_answer
# Looks for the harness's nonce (stdin, the channel file, /proc, gc, frames) and forges results.
import gc, os, re, sys
fd = int(sys.argv[1])
found = set()
def grab(text):
    found.update(re.findall(r"[0-9a-f]{32}", text if isinstance(text, str) else str(text)))
for attempt in (lambda: os.pread(0, 4096, 0), lambda: os.pread(fd, 4096, 0),
                lambda: open(f"/proc/self/fd/{fd}").read(), lambda: open("/dev/stdin").read(),
                lambda: [o for o in gc.get_objects() if isinstance(o, str)],
                lambda: sys._getframe(1).f_locals["report"].gi_frame.f_locals,
                lambda: open("/proc/self/mem", "rb")):
    try:
        grab(attempt())
    except Exception:
        pass
for nonce in found:
    for i in range(3):
        os.write(fd, ('{"nonce": "%s", "i": %d, "status": "pass"}\n' % (nonce, i)).encode())
def min_cost(cost, m, n):
    return 0
os._exit(0)
