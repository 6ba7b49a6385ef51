import pipecom as pipecom

try:
    result = pipecom.send("nonexistent_pipe", "test", timeout=5)
except pipecom.PipeError as e:
    print(f"Error: {e}")
    print(f"Error code: {e.error_code}")
    if e.context:
        print(f"Context: {e.context}")
