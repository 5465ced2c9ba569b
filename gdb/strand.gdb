# strand.gdb: gdb commands for a session with `strand gdbserver`.
# Load it with `source PREFIX/share/strand/strand.gdb` (or from the source
# tree, gdb/strand.gdb); docs/gdb.md shows them in use.

define strand-seek
  if $argc != 1
    echo usage: strand-seek POS (any seek argument: 32160, 50%, end-100)\n
  else
    monitor seek $arg0
    # the server answers the next resume with the new place without
    # moving ("Thread N stopped."): gdb then reads registers and frames anew
    stepi
  end
end
document strand-seek
Go to a position of the trace: strand-seek POS (32160, 50%, end-100).
Runs `monitor seek POS`, then `stepi`, which the server answers with the
new place without moving, so gdb reads registers, threads and frames anew.
(`monitor seek` alone leaves gdb's register cache as it was until the next
motion command.)
end

define strand-bt
  monitor bt
end
document strand-bt
The exact call stack of the current thread from the recording (every call
and return replayed), with the position of each call: `monitor bt`.
end
