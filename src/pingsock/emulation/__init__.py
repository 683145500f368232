"""The ping socket's behaviour as a pure state machine (no I/O).

The raw backend (and, later, the daemon's mediated mode) drive this core: it decides what the
kernel's ping socket would do — which ident to take, whether a send is valid and in which
order errors are checked, which received packet belongs to the socket, what an ICMP error
becomes — and the backend only moves bytes. Every rule cites its section of
shared/spec/kernel-ping-socket.md.
"""
