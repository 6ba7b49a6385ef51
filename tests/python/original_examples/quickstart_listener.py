import pipecom

def message_handler(message):
    print(f"Received: {message}")

# Create and start a pipe listener
pipe = pipecom.Pipe("my_pipe", message_handler)
pipe.listen()

# Keep the main thread alive
input("Press Enter to stop...")
