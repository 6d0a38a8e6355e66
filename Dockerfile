FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
EXPOSE 3000
# TypeScript runs through tsx, as in development: there is no build step.
CMD ["npm", "start"]
