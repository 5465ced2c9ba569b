# Corpus program: Python threads summing ranges.
import threading

results = [0] * 4

def work(k):
    results[k] = sum(range(k * 1000, (k + 1) * 1000))

threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads done", sum(results))
