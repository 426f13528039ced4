"""Result tables and plots."""
