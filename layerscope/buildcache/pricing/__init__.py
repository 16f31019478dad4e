"""What missed steps cost: an image's history joined to the Dockerfile steps, the layers' bytes and the steps'
seconds.
"""
