"""An infinite loop at the top level, that also swallows every exception."""
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
