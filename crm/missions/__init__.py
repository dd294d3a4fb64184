"""Trade missions and the meetings held during them."""
