import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import type { ApiScope } from '../../domain/account-settings.ts';

/**
 * One place declares an API route: its path, scope, input schemas and answers. The same declaration mounts the
 * Express handler and writes the route into the OpenAPI document, so the two cannot drift apart.
 */
export interface ApiRouteSpec<TBody extends z.ZodType | undefined, TQuery extends z.ZodType | undefined> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express syntax, relative to the account prefix: `/campaign/:id`. */
  path: string;
  summary: string;
  scope: ApiScope | null;
  body?: TBody;
  query?: TQuery;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Extra middleware (idempotency, rate limits) in front of the handler. */
  before?: RequestHandler[];
  /** The body's media type in the document (JSON unless told). */
  bodyContentType?: string;
}

export interface DocumentedRoute {
  method: string;
  /** The full path in Express syntax. */
  path: string;
  spec: ApiRouteSpec<z.ZodType | undefined, z.ZodType | undefined>;
}

export class ApiRegistry {
  readonly routes: DocumentedRoute[] = [];

  constructor(readonly prefix: string) {}

  document(method: string, fullPath: string, spec: DocumentedRoute['spec']): void {
    this.routes.push({ method, path: fullPath, spec });
  }

  /** Another registry's routes (another prefix, e.g. LivePerson's paths) in this one's document too. */
  include(other: ApiRegistry): void {
    this.routes.push(...other.routes);
  }

  openApi(info: { title: string; version: string; description: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes) {
      const openApiPath = route.path.replace(/:(\w+)/g, '{$1}');
      const parameters = [...route.path.matchAll(/:(\w+)/g)].map((match) => ({
        name: match[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }));
      if (route.spec.query) {
        const shape = (route.spec.query as unknown as z.ZodObject).shape ?? {};
        for (const [name, schema] of Object.entries(shape)) {
          parameters.push({
            name,
            in: 'query',
            required: !(schema as z.ZodType).safeParse(undefined).success,
            schema: toJsonSchema(schema as z.ZodType) as { type: string },
          });
        }
      }
      if (route.spec.method === 'post' && route.path.startsWith('/api/v2/')) {
        parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } });
      }
      const operation: Record<string, unknown> = {
        summary: route.spec.summary,
        parameters,
        responses: Object.fromEntries(
          Object.entries(route.spec.responses).map(([status, response]) => [
            status,
            {
              description: response.description,
              ...(response.schema
                ? { content: { 'application/json': { schema: toJsonSchema(response.schema) } } }
                : {}),
            },
          ]),
        ),
      };
      if (route.spec.scope) operation.security = [{ bearer: [route.spec.scope] }];
      if (route.spec.body) {
        operation.requestBody = {
          required: true,
          content: { [route.spec.bodyContentType ?? 'application/json']: { schema: toJsonSchema(route.spec.body) } },
        };
      }
      paths[openApiPath] ??= {};
      paths[openApiPath][route.method] = operation;
    }
    return {
      openapi: '3.1.0',
      info,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'From POST /oauth/token, or LivePerson’s POST /sentinel/api/account/{accountId}/app/token (the same token)',
          },
        },
        schemas: {
          Error: toJsonSchema(apiErrorSchema),
        },
      },
      paths,
    };
  }
}

export const apiErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  requestTraceId: z.string().nullable(),
  field: z.string().optional(),
});

function toJsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
}

export type Handler<TBody, TQuery> = (
  req: Request & { parsedBody: TBody; parsedQuery: TQuery },
  res: Response,
) => Promise<void> | void;

export interface ApiGuards {
  scope: (scope: ApiScope) => RequestHandler;
  invalid: (res: Response, error: z.ZodError, where: 'body' | 'query') => void;
}

/** Mounts and documents one route. Input that fails its schema never reaches the handler. */
export function defineApiRoute<TBody extends z.ZodType | undefined, TQuery extends z.ZodType | undefined>(
  router: Router,
  registry: ApiRegistry,
  guards: {
    scope: (scope: ApiScope) => RequestHandler;
    invalid: (res: Response, error: z.ZodError, where: 'body' | 'query') => void;
  },
  spec: ApiRouteSpec<TBody, TQuery>,
  handler: Handler<
    TBody extends z.ZodType ? z.infer<TBody> : undefined,
    TQuery extends z.ZodType ? z.infer<TQuery> : undefined
  >,
): void {
  registry.document(spec.method, `${registry.prefix}${spec.path}`, spec as DocumentedRoute['spec']);
  const chain: RequestHandler[] = [];
  if (spec.scope) chain.push(guards.scope(spec.scope));
  chain.push(...(spec.before ?? []));
  chain.push(async (req, res, next) => {
    const target = req as Request & { parsedBody: unknown; parsedQuery: unknown };
    if (spec.body) {
      const parsed = spec.body.safeParse(req.body);
      if (!parsed.success) return guards.invalid(res, parsed.error, 'body');
      target.parsedBody = parsed.data;
    }
    if (spec.query) {
      const parsed = spec.query.safeParse(req.query);
      if (!parsed.success) return guards.invalid(res, parsed.error, 'query');
      target.parsedQuery = parsed.data;
    }
    try {
      await handler(target as never, res);
    } catch (error) {
      next(error);
    }
  });
  router[spec.method](spec.path, ...chain);
}
