"""The test lab: real network namespaces, users, a user-space ICMP responder and a sniffer.

Everything here needs root and ``ip netns``; the fixtures in ``tests/conftest.py`` skip cleanly
otherwise (or fail, when ``PSK_REQUIRE_NETNS=1``, as CI should set).

Modules:

* ``netns``     -- :class:`Netns`, :func:`create_netns`, deletion guarantees and the stale sweep
* ``users``     -- :class:`User`, :func:`run_as`, :func:`python_as`, :func:`pingsock_argv`
* ``topology``  -- client -- router -- server over veth pairs (:func:`build_routed_lab`)
* ``responder`` -- a host whose kernel echo is off and a user-space responder answers instead
* ``sniffer``   -- capture IP packets inside a namespace on one interface (AF_PACKET)
* ``probe``     -- raw-socket echo helpers (:class:`RawPinger`, :func:`ping_once`): an oracle
* ``plugin``    -- the fixtures ``netns``, ``netns_factory``, ``routed_lab``, ``responder_lab``

Every namespace is named ``psk-<pid>-<counter>-<role>`` so that concurrent runs never collide and
a later run can tell which namespaces belong to a dead process.
"""
