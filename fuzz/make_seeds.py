#!/usr/bin/env python3
"""Write the seed corpora of fuzz_replay, fuzz_scenario and fuzz_query.

fuzz_replay seeds are programs in the harness's input language (see the
comment at the top of fuzz/fuzz_replay.c): small traces whose facts agree
with their code, plus variants with one forged fact each.  Scenario seeds
are the bundled scenarios; query seeds are command lines.  Run from
anywhere; writes under fuzz/.  Deterministic.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u(n, v):
    return struct.pack('<Q', v & (2 ** 64 - 1))[:n]


def region(page, pages, prot, kind, data):
    return bytes([0]) + u(2, page) + u(1, pages - 1) + u(1, prot) + u(1, kind) + u(1, len(data)) + data


def thread(tid, rip_page, rip_off, rsp, gdt=0, limit=0, sels=(0,) * 6):
    b = bytes([1]) + u(1, tid) + u(2, rip_page) + u(2, rip_off) + u(4, rsp) + u(4, gdt) + u(2, limit)
    for s in sels:
        b += u(2, s)
    return b


def snap_end():
    return bytes([2])


def syscall(dpos, pc, number, args, result, set_rax=True, waddr=0, wdata=b''):
    b = bytes([3]) + u(2, dpos) + u(4, pc) + u(2, number) + u(1, 6)
    for a in (list(args) + [0] * 6)[:6]:
        b += u(4, a)
    return b + u(4, result) + u(1, 1 if set_rax else 0) + u(4, waddr) + u(1, len(wdata)) + wdata


def output(dpos, stream, data):
    return bytes([6]) + u(2, dpos) + u(1, stream - 1) + u(1, len(data)) + data


def keyframe(dpos, rip, addr, size, h):
    return bytes([5]) + u(2, dpos) + u(4, rip) + u(4, addr) + u(2, size - 1) + u(8, h)


def module(page, pages, name, off, sym):
    return bytes([11]) + u(2, page) + u(1, pages - 1) + u(1, len(name)) + name + u(2, off) + u(1, len(sym)) + sym


def exit_(dpos):
    return bytes([12]) + u(2, dpos)


def jump(dpos, shift):
    return bytes([13]) + u(4, dpos) + u(1, shift)


# x86-64 Linux: write(1, msg, 3); exit(0)
# (the message at 0x400040, after the code)
CODE64 = bytes.fromhex('b801000000' 'bf01000000' 'be40004000' 'ba03000000' '0f05'
                       'b83c000000' '31ff' '0f05' 'ebfe')
MSG = b'hi\n'
data = CODE64 + bytes(0x40 - len(CODE64)) + MSG


def linux64(forge=None, report=False):
    hdr = bytes([1 | (2 << 1) | (8 if report else 0)])
    out = MSG if forge != 'output' else b'ho\n'
    nr = 1 if forge != 'number' else 2
    res = 3 if forge != 'result' else 0xfffffffffffff000
    arg0 = 1 if forge != 'arg' else 2
    b = hdr + module(0x400, 1, b'prog\x1b[31m', 0, b'start<script>') + region(0x400, 1, 5, 1, data)
    b += region(0x600, 1, 3, 2, b'')
    b += thread(1, 0x400, 0, 0x600ff0) + snap_end()
    b += syscall(4, 0x400014, nr, [arg0, 0x400040, 3, 0, 0, 0], res)
    b += output(1, 1, out)
    b += syscall(2, 0x400020, 60, [0, 0x400040, 3, 0, 0, 0], 0, set_rax=False)
    return b + exit_(1)


def write(d, name, b):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(b)


rd = os.path.join(HERE, 'corpus-replay')
write(rd, 'linux64-ok', linux64())
write(rd, 'linux64-ok-report', linux64(report=True))
for f in ('output', 'number', 'result', 'arg'):
    write(rd, 'linux64-forged-' + f, linux64(f))
# jmp $ with the exit claimed at 2^62
write(rd, 'jmp-far-exit', bytes([1 | 4]) + region(0x400, 1, 5, 1, b'\xeb\xfe') + thread(1, 0x400, 0, 0)
      + snap_end() + jump(1, 62) + exit_(0))
# a memory read at the top of the address space, large zero regions
write(rd, 'top-of-space', bytes([1 | 4]) + region(0xffff, 1, 3, 0, b'') + region(0x400, 255, 3, 8, b'')
      + thread(1, 0x400, 0, 0) + snap_end() + exit_(3))
# x86-32 Windows with a GDT outside mapped memory and a selector to load
write(rd, 'gdt-unmapped', bytes([0 | 2]) + region(0x400, 1, 5, 1, b'\x90\x90\xeb\xfe')
      + thread(1, 0x400, 0, 0x1000, gdt=0x7000000, limit=0xff, sels=(0x23, 0x1b, 0x23, 0x23, 0x3b, 0))
      + snap_end() + exit_(2))
write(rd, 'gdt-removed', bytes([0 | 2]) + region(0x400, 1, 5, 1, b'\x90\x90\xeb\xfe')
      + region(0x500, 1, 3, 7, bytes(0x18) + bytes.fromhex('ffff0000 00f3cf00'.replace(' ', '')))
      + thread(1, 0x400, 0, 0x1000, gdt=0x500000, limit=0xff, sels=(0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0))
      + snap_end() + bytes([9]) + u(2, 1) + u(1, 1) + u(2, 0x500) + u(1, 0) + u(1, 0)
      + bytes([7]) + u(2, 0) + u(1, 1) + exit_(1))

sd = os.path.join(HERE, 'corpus-scenario')
os.makedirs(sd, exist_ok=True)
traces = os.path.join(HERE, '..', 'tests', 'traces')
for n in sorted(os.listdir(traces)):
    if n.endswith('.scenario'):
        shutil.copy(os.path.join(traces, n), os.path.join(sd, n))
write(sd, 'file-data', b'[process]\nimage = a.exe\n[file C:\\x]\ndata = file:data.bin\n'
      b'[file C:\\y]\ndata = file:../etc/passwd\n[file C:\\z]\ndata = file:fifo\n')

qd = os.path.join(HERE, 'corpus-query')
for i, cmd in enumerate([b'mem 0xffffffffffffffff 16', b'seek end; bt; regs', b'print (eax+4)*2 << 3',
                         b'disas 0xfffffffffffffffe 4', b'mem str [esp+4] 99999999',
                         b'events syscall; syscalls --failed', b'seek event 3; origin eax',
                         b'break ntdll.dll!NtDeviceIoControlFile; continue; finish',
                         b'watch rw esp 4; rcontinue; back 10', b'find 0xc000000e 4 3',
                         b'sym KiFastSystemCall; modules; threads', b'calls NtCreateFile']):
    write(qd, 'q%02d' % i, cmd)
