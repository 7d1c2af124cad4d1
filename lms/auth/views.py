"""Sign in with NIP or e-mail, sign out, password reset by e-mail link, password change."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from lms import nip as nip_rules
from lms import services
from lms.auth.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, NewPasswordForm
from lms.extensions import client_address, db, limiter
from lms.forms import EmptyForm
from lms.mail import send_mail
from lms.urls import is_safe_next

bp = Blueprint("auth", __name__, url_prefix="/akun")


def account_key() -> str:
    """The account a sign-in attempt aims at, the same however the NIP or e-mail was typed."""
    login = (request.form.get("login") or "").strip().lower()
    # One lock per account: failures by e-mail and by NIP count together (a lookup, not a hash).
    user = services.find_by_login(login)
    if user is not None:
        return f"account:{user.id}"
    if "@" not in login:
        login = nip_rules.normalise(login)
    return f"account:{login}"


def attempt_failed(_response) -> bool:
    return bool(g.get("login_failed"))


# Only failed attempts count. Per address the limit is generous on purpose: a whole office often signs
# in from one NAT address on exam day. Both limits are checked before any password is hashed.
@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], key_func=client_address,
               methods=["POST"], deduct_when=attempt_failed, scope="login-address")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=account_key,
               methods=["POST"], deduct_when=attempt_failed, scope="login-account")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("lms.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.login.data, form.password.data)
        except services.ServiceError as exc:
            db.session.commit()
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 403
        if user is None:
            g.login_failed = True
            db.session.commit()  # keeps the audit record of the failed attempt
            form.password.errors.append(_("The NIP/e-mail or password is not correct."))
            return render_template("auth/login.html", form=form), 200
        db.session.commit()
        # A fresh session at sign-in: nothing from before (a planted session id, old flags) survives.
        lang = session.get("lang")
        session.clear()
        login_user(user, remember=form.remember.data)
        session["lang"] = user.locale or lang
        target = form.next.data if is_safe_next(form.next.data) else url_for("lms.home")
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/keluar", methods=["POST"])
def logout():
    form = EmptyForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        services.audit("auth.logout", current_user, actor=current_user, summary=current_user.email)
        db.session.commit()
        logout_user()
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lupa-sandi", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], key_func=client_address,
               methods=["POST"], scope="reset-address")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = services.request_password_reset(form.email.data)
        db.session.commit()
        if found is not None:
            user, token = found
            link = f"{current_app.config['BASE_URL']}{url_for('auth.reset_password', token=token)}"
            body = render_template("mail/password_reset.txt", user=user, link=link,
                                   hours=current_app.config["PASSWORD_RESET_HOURS"])
            send_mail(user.email, _("Reset your Bangkom password"), body)
        # The same answer whether or not the address exists, so addresses cannot be probed.
        flash(_("If an active account uses that address, a link to choose a new password is on its way. "
                "It works once, within %(hours)s hours.", hours=current_app.config["PASSWORD_RESET_HOURS"]),
              "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/atur-sandi/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if services.find_reset(token) is None:
        return render_template("auth/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.complete_password_reset(token, form.password.data)
        except services.ValidationFailed as exc:
            db.session.rollback()
            form.password.errors.extend(exc.errors.values())
        except services.ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("auth.forgot_password"))
        else:
            db.session.commit()
            flash(_("Your new password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/ganti-sandi", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except services.ValidationFailed as exc:
            db.session.rollback()
            for field, message in exc.errors.items():
                form[field].errors.append(message)
        else:
            db.session.commit()
            # The nonce changed, which ends every other session; keep this one signed in.
            login_user(current_user._get_current_object())
            flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("lms.profile"))
    return render_template("auth/change_password.html", form=form)
