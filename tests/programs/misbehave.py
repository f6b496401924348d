"""A training program that breaks one rule of the protocol, chosen by the
job's "mode" parameter: crash, hang, overrun, garbage, noresult, flood,
diverge, or sleep (a well-behaved long job that writes its pid to the file
named by "pid_file", for the stop test).
"""
import os
import sys
import time

import gridsearch

job = gridsearch.job()
mode = job.params["mode"]
if "pid_file" in job.params:
    with open(job.params["pid_file"], "w") as f:
        f.write(str(os.getpid()))
job.train_start()
job.report(1, 1.0)
job.report(2, 0.9)
print("misbehave: mode", mode, flush=True)

if mode == "crash":
    raise RuntimeError("boom: the training loop crashed")
elif mode == "hang":
    time.sleep(1000)
elif mode == "overrun":
    step = 2
    while True:  # never stops, and keeps reporting: not hung, overrunning
        step += 1
        time.sleep(0.2)
        job.report(step, 0.5)
elif mode == "garbage":
    os.write(int(os.environ["GRIDSEARCH_REPORT_FD"]), b"this is not json\n")
    time.sleep(30)
elif mode == "noresult":
    sys.exit(0)
elif mode == "flood":
    fd = int(os.environ["GRIDSEARCH_REPORT_FD"])
    line = b'{"event": "heartbeat"}\n' * 1000
    while True:
        os.write(fd, line)
elif mode == "diverge":
    job.report(3, float("nan"))
    time.sleep(30)
elif mode == "sleep":
    while job.running():
        time.sleep(0.2)
        job.heartbeat()
    job.result(final_train_loss=0.5)
