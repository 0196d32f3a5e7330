"""Reference answer of Lab 02's window exercise: a grace window sized from the timings.

The retry's failure is written retry_after (1.0 s) + one timeout (0.3 s) after the first
timeout, which is 0.6 s after the trace's last event (the provider's late acceptance at
1.0 s). So the window must reach past 600 ms; every second beyond adds other requests'
untraced lines on a busy host. 1000 ms catches the retry with margin and little noise.
"""

window_ms = 1000
