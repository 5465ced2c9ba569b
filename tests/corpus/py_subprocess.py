# Corpus program: Python running child processes.
import subprocess

out = subprocess.run(["echo", "from a child"], capture_output=True, text=True).stdout
print(out.strip())
print("child status", subprocess.call(["sh", "-c", "exit 3"]))
