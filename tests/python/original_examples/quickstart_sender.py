import pipecom

# Send a message
message_sent = pipecom.send("my_pipe", "Hello, World!")
if message_sent:
    print("Message sent successfully!")
else:
    print("Failed to send message")
