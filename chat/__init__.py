"""The chat domain: messages and their attachments, each with a short public URL."""
