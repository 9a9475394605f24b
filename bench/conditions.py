"""Prints the machine's conditions for a benchmark run: cores, load average
and the fdatasync latency of 4 KiB writes in DIR (on the disk under test).

Usage: python3 bench/conditions.py DIR LABEL
"""
import os
import sys
import time

directory, label = sys.argv[1], sys.argv[2]
path = os.path.join(directory, "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
count = 200
start = time.perf_counter()
for _ in range(count):
    os.write(fd, b"x" * 4096)
    os.fdatasync(fd)
us = (time.perf_counter() - start) / count * 1e6
os.close(fd)
os.unlink(path)
print(f"{label}: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
      f"fdatasync of 4 KiB {us:.0f} us")
