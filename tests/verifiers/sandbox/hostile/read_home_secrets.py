# expect: runtime_error
# modes: bwrap
# Exits 0 (a wrong answer) if it can see anything under /root, ~/.cache or the repo.
import os, sys
seen = []
for path in ("/root", "/root/.cache", os.path.expanduser("~/.cache"), "/work", "/home", "/etc/shadow"):
    try:
        seen += [path, *os.listdir(path)] if os.path.isdir(path) else [path, open(path).read(10)]
    except OSError:
        pass
seen = [s for s in seen if s not in ("/root", ".pyenv", "/work", "main", "/tmp")]
print(seen)
if not seen:
    raise SystemExit(1)
