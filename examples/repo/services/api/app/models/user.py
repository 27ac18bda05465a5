class User:
    id: int
    email: str
