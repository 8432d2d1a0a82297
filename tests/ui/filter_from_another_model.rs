// A filter built from one model's column applies only to queries on that model.
use tethered::{Model, Select};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

#[derive(Model)]
struct Post {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    author: i64,
}

pub fn posts_of_ada() -> Select<Post> {
    Post::query().filter(User::EMAIL.eq("ada@example.com"))
}

fn main() {}
