"""os._exit(0) while being imported: the process ends with a 'success' code."""
import os
os._exit(0)
