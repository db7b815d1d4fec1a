# A listener (backlog 8) that never sees a handshake complete: the test's namespace drops the final
# ACKs towards it. On "go" it connects to itself once every 0.2 s, at most 400 times (80 s): the
# first 8 or 9 requests fill its SYN queue, every later SYN is answered with a syncookie, and the
# queue stays full as long as it goes on (a request socket lives about a minute). It ends when its
# stdin closes, and its listener with it.
import select
import socket
import sys

port = int(sys.argv[1])
srv = socket.socket()
srv.bind(("127.0.0.1", port))
srv.listen(8)
print("listening", port, flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit(0)
held = []
for i in range(400):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    held.append(c)
    if i == 0:
        print("connecting", flush=True)
    ready, _, _ = select.select([sys.stdin], [], [], 0.2)
    if ready and sys.stdin.readline() == "":
        sys.exit(0)
sys.stdin.read()
