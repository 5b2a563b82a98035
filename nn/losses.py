"""(being written)"""
MSELoss = CrossEntropyLoss = None
