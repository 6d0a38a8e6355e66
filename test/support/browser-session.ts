/**
 * A tiny HTTP client that behaves like a browser for server-rendered pages: it keeps cookies, reads the CSRF
 * token from the page it last loaded, and does not follow redirects unless asked.
 */
export class WebSession {
  private cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly baseUrl: string) {}

  private remember(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async get(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; html: string; location: string | null }> {
    const response = await fetch(this.baseUrl + path, {
      headers: { cookie: this.cookieHeader(), accept: 'text/html', ...headers },
      redirect: 'manual',
    });
    this.remember(response);
    const html = await response.text();
    const token = /name="_csrf" value="([^"]*)"/.exec(html) ?? /"X-CSRF-Token": "([^"]*)"/.exec(html);
    if (token?.[1]) this.csrf = token[1];
    return { status: response.status, html, location: response.headers.get('location') };
  }

  async post(
    path: string,
    form: Record<string, string>,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; html: string; location: string | null }> {
    const body = new URLSearchParams(options.csrf === false ? form : { _csrf: this.csrf, ...form });
    const response = await fetch(this.baseUrl + path, {
      method: 'POST',
      headers: {
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        ...options.headers,
      },
      body,
      redirect: 'manual',
    });
    this.remember(response);
    return { status: response.status, html: await response.text(), location: response.headers.get('location') };
  }

  /** Signs in through the login form; returns the page it lands on. */
  async login(email: string, password: string): Promise<{ status: number; location: string | null }> {
    await this.get('/login');
    const result = await this.post('/login', { email, password });
    return { status: result.status, location: result.location };
  }
}
