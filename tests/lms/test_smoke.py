from lms.models import User


def test_home_page_greets_a_signed_in_learner(client, make_user, login):
    user = make_user(full_name="Budi Santoso", title_back="S.Kom.")
    login(user)
    page = client.get("/").get_data(as_text=True)
    assert "Budi Santoso, S.Kom." in page


def test_users_table_starts_empty(app):
    from sqlalchemy import func, select

    from lms.extensions import db

    assert db.session.scalar(select(func.count(User.id))) == 0
