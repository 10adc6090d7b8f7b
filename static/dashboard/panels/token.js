/*
 * The API token panel: the signed-in person creates a token for their own
 * account, or rotates it (the old one stops working at once), and sees it
 * once, with the command that points a bot at their account.
 */

export class TokenPanel {
  /** `root`: the panel; `rotate()`: resolves with `{account, token}`; `hasToken`: one was issued before. */
  constructor(root, { rotate, hasToken }) {
    this.root = root;
    this.rotate = rotate;
    this.button = root.querySelector("[data-testid=token-button]");
    this.shown = root.querySelector("[data-testid=token-shown]");
    this.value = root.querySelector("[data-testid=token-value]");
    this.command = root.querySelector("[data-testid=token-command]");
    this.message = root.querySelector("[data-testid=token-message]");
    this.hasToken = hasToken;
    this.label();
    this.button.addEventListener("click", () => this.issue());
  }

  label() {
    this.button.textContent = this.hasToken ? "Rotate API token" : "Create API token";
    this.button.title = this.hasToken ? "A new token; the current one stops working at once" : "";
  }

  async issue() {
    if (this.hasToken && !window.confirm("Rotate the token? The current one stops working at once.")) return;
    this.button.disabled = true;
    this.message.textContent = "";
    try {
      const { account, token } = await this.rotate();
      this.hasToken = true;
      this.value.textContent = token;
      this.command.textContent = `python manage.py runbot investor --url ${window.location.origin} --token ${token}`;
      this.shown.hidden = false;
      this.message.textContent = `The token of ${account}: copy it now, it is shown only once.`;
    } catch (error) {
      this.message.textContent = error.message;
    } finally {
      this.button.disabled = false;
      this.label();
    }
  }
}
