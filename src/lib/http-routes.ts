/**
 * A route table for the HTTP APIs we serve (the control API, the stand-in controller): a method
 * and a path pattern with `{name}` parameters, each parameter one segment without `/` or `:`
 * (so `/v1/sessions/{id}:cancel` works as in Boundary's API paths), mapped to a handler. Paths
 * are matched as sent and only the parameters are decoded, so an encoded `/` or `:` stays in
 * its parameter.
 */
import { invalidArgument } from './api-error.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** `{id: string}` for `/v1/sessions/{id}:cancel`. */
export type PathParams<P extends string> = Readonly<Record<ParamNames<P>, string>>;
type ParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamNames<Rest>
  : never;

export interface Route<C, R> {
  readonly method: HttpMethod;
  readonly path: string;
  readonly handle: (ctx: C, params: Readonly<Record<string, string>>) => R;
}

/** A route whose handler gets the path's parameters by name. */
export function route<P extends string, C, R>(
  method: HttpMethod,
  path: P,
  handle: (ctx: C, params: PathParams<P>) => R,
): Route<C, R> {
  // The table fills in every name of the pattern, which is what PathParams promises.
  return { method, path, handle };
}

export type RouteMatch<C, R> =
  | { readonly route: Route<C, R>; readonly params: Readonly<Record<string, string>> }
  /** The path is known but not for this method: the methods it has. */
  | { readonly route: undefined; readonly allowed: readonly HttpMethod[] };

export class RouteTable<C, R> {
  readonly #routes: readonly { route: Route<C, R>; pattern: RegExp; names: string[] }[];

  constructor(routes: readonly Route<C, R>[]) {
    this.#routes = routes.map((r) => {
      const names: string[] = [];
      const source = r.path
        .split(/(\{\w+\})/)
        .map((part) => {
          const name = /^\{(\w+)\}$/.exec(part)?.[1];
          if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(name);
          return '([^/:]+)';
        })
        .join('');
      return { route: r, pattern: new RegExp(`^${source}$`), names };
    });
  }

  /**
   * The route for a request path (without the query), with its decoded parameters; undefined
   * when no route has that path. A parameter that is not valid URL encoding is a 400, whatever
   * the method.
   */
  find(method: string, path: string): RouteMatch<C, R> | undefined {
    const allowed: HttpMethod[] = [];
    for (const { route: r, pattern, names } of this.#routes) {
      const match = pattern.exec(path);
      if (match === null) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(match[i + 1] ?? '');
        } catch {
          throw invalidArgument(`The path ${path} is not valid URL encoding.`);
        }
      });
      if (r.method === method) return { route: r, params };
      allowed.push(r.method);
    }
    return allowed.length === 0 ? undefined : { route: undefined, allowed };
  }
}
