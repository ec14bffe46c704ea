"""The course platforms: a gradebook for a folder of submissions, Gradescope's autograder and GitHub Classroom."""
