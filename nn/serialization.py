"""(being written)"""
save = load = None
