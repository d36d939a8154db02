import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { App } from './context.ts';

/** OpenAPI 3 documentation built from the routes' zod schemas: JSON at /docs/json, a browsable page at /docs. */
export async function registerOpenApi(app: App): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'tuvens-api',
        version: '1.0.0',
        description: 'Users, events, cross-app sessions for Hi.Events, the status webhook and live updates.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          sharedSecret: { type: 'apiKey', in: 'header', name: 'x-shared-secret' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}
