# expect: runtime_error
# modes: bwrap
# The test listens on this loopback port; reaching it would break isolation.
import socket, sys
port = int(sys.stdin.read().split()[0])
s = socket.create_connection(("127.0.0.1", port), timeout=2)
s.sendall(b"leak")
print("connected")
