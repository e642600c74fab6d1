"""Feed-forward stylisation (Johnson et al. 2016): apply shipped or trained networks, train them, export them."""
