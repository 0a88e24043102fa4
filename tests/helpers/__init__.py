"""What several test files share: run folders and pictures made for tests, and the developer tools that check the tests
(a bug planted by hand, mutation testing, a DDP probe run as its own process)."""
