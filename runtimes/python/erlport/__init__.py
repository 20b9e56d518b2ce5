"""hookmq's Python side of the Erlang port protocol.

The hookmq broker starts ``python3 -u -m erlport.cli --packet=4 --use_stdio ...`` with this
directory's parent on ``PYTHONPATH``; the runtime then serves the broker's calls into user
hook modules (see ``runtimes/python/README.md``). The package is named ``erlport`` because
existing hook code imports it under that name (``from erlport.erlterms import Atom``); it is an
independent implementation written for hookmq, not a copy of the erlport project.

Modules:

* ``erlterms`` -- Erlang term types and the External Term Format codec.
* ``erlproto`` -- the ``Port``: length-prefixed frames over a pair of file descriptors.
* ``erlang``   -- the message loop and the API hooks may call (``call``, ``cast``, ...).
* ``stdio``    -- routes ``print()`` to the broker and detaches ``sys.stdin``.
* ``cli``      -- command-line entry point used by the broker.
"""

__version__ = "1.0.0"
