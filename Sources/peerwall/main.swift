print("peerwall")
